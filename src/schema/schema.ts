/** One problem found while validating a value. */
export interface SchemaIssue {
  /** Where in the value: object keys and array indices from the root. */
  path: PropertyKey[];
  /** What is wrong. */
  message: string;
}

/** The result of {@linkcode Schema.safeParse}: the typed value, or the issues. */
export type SafeParseResult<T> =
  | { success: true; data: T; error?: undefined }
  | { success: false; data?: undefined; error: { issues: SchemaIssue[]; message: string } };

/**
 * A validator for values of type `T`. The schemas of this package are zod 4 schemas; this is the
 * part of their interface that the package promises.
 */
export interface Schema<T> {
  /** The value as `T`, or a thrown error that lists the issues. */
  parse(value: unknown): T;
  /** The value as `T`, or the issues, without throwing. */
  safeParse(value: unknown): SafeParseResult<T>;
}
