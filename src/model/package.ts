/**
 * A model package: the manifest, the list of every file with its size known up front, and
 * reading one component's files with progress and sha256 verification.
 *
 * @module
 */

import { EditMGTError } from "../errors/mod.ts";
import type {
  ComponentDtype,
  Manifest,
  ManifestComponent,
  ManifestFileParts,
} from "../schema/manifest.ts";
import { manifestUrl } from "./location.ts";
import { parseManifest } from "./manifest.ts";
import { fetchSource, type FileSource } from "./source.ts";
import { baseDtype, offeredDtypes } from "./variants.ts";
import { verifyFile } from "./verify.ts";

/**
 * Progress of reading a package's files. `loaded`/`total` count bytes of `file`;
 * `packageLoaded`/`packageTotal` count every file of the package, for one overall bar.
 */
export interface DownloadEvent {
  /** Event kind. */
  type: "download";
  /** The file's path in the manifest. */
  file: string;
  /** Bytes of this file read so far. */
  loaded: number;
  /** Size of this file. */
  total: number;
  /** Bytes of the package read so far. */
  packageLoaded: number;
  /**
   * {@linkcode ModelPackage.totalBytes}, known before the first byte is read: the size of a load
   * of the base weights. A load of other variants knows its own total from
   * {@linkcode ModelPackage.filesFor}.
   */
  packageTotal: number;
}

/** Events emitted while a package loads. */
export type ModelLoadEvent = DownloadEvent;

/** Options for {@linkcode openModelPackage}. */
export interface ModelPackageOptions {
  /** How files are read; default {@linkcode fetchSource}. */
  source?: FileSource;
  /** Base for a relative `location`; default the page's `location.href` where there is one. */
  base?: string | URL;
  /** Receives {@linkcode ModelLoadEvent}s. */
  onProgress?: (event: ModelLoadEvent) => void;
  /** Cancels reading; pending reads reject with `aborted`. */
  signal?: AbortSignal;
}

/** One file of the package, resolved to a URL. */
export interface PackageFile {
  /** The component the file belongs to. */
  component: string;
  /** Path in the manifest. */
  path: string;
  /** Where it is read from: the manifest's `url`, or `path` relative to the manifest. */
  url: URL;
  /** Expected sha256 (lowercase hex). */
  sha256: string;
  /** Expected size in bytes. */
  bytes: number;
  /** Per-part sizes and sha256, when the manifest gives them. */
  parts?: ManifestFileParts;
  /** Weight type of the file set it belongs to (a graph's base or variant); none for tokenizers. */
  dtype?: ComponentDtype;
  /** Whether it belongs to a variant rather than to the component's base files. */
  variant: boolean;
}

/** A file's verified bytes. */
export interface VerifiedFile {
  /** Path in the manifest. */
  path: string;
  /** Contents; size and sha256 equal the manifest's. */
  data: Uint8Array;
}

/** An opened model package. Files are read only when a component is asked for. */
export interface ModelPackage {
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** Where the manifest was read from; relative file paths resolve against it. */
  readonly manifestUrl: URL;
  /** Every file of every component, each variant's included (what a server serves). */
  readonly files: readonly PackageFile[];
  /** Bytes of a load of the base weights: the files of {@linkcode ModelPackage.filesFor}`()`. */
  readonly totalBytes: number;
  /** The component named `name`; throws `invalid_option` for an unknown name. */
  component(name: string): ManifestComponent;
  /**
   * The files a load reads: every tokenizer's, and per graph component those of the weight type
   * `dtypes` names for it (see `chooseVariants` and `dtypesOf`), else its base files.
   */
  filesFor(dtypes?: Readonly<Record<string, ComponentDtype>>): PackageFile[];
  /**
   * Reads every file of component `name` in weight type `dtype` (default its base files) and
   * verifies its size and sha256. Throws `invalid_option` for a weight type it does not offer.
   */
  readComponent(name: string, dtype?: ComponentDtype): Promise<VerifiedFile[]>;
}

/**
 * Reads and validates the manifest at `location` (a model folder or its `manifest.json`, as URL
 * or path). Nothing else is read until {@linkcode ModelPackage.readComponent}.
 *
 * @example
 * ```ts
 * import { openModelPackage } from "@editmgt/editmgt/model";
 *
 * const model = await openModelPackage("https://example.com/models/editmgt-tiny/", {
 *   onProgress: (event) => console.log(`${event.packageLoaded}/${event.packageTotal}`),
 * });
 * console.log(model.totalBytes);
 * const [tokenizer] = await model.readComponent("tokenizer");
 * ```
 */
export async function openModelPackage(
  location: string | URL,
  options: ModelPackageOptions = {},
): Promise<ModelPackage> {
  const source = options.source ?? fetchSource;
  const url = manifestUrl(location, options.base);
  const bytes = await source({ url, signal: options.signal });
  const manifest = parseManifest(parseJson(bytes, url));
  const files = manifest.components.flatMap((component) => {
    const graph = component.kind !== "tokenizer";
    return [
      { dtype: graph ? baseDtype(component) : undefined, files: component.files, variant: false },
      ...(component.variants ?? []).map((variant) => ({ ...variant, variant: true })),
    ].flatMap((set) =>
      set.files.map((file): PackageFile => ({
        component: component.name,
        path: file.path,
        url: new URL(file.url ?? file.path, url),
        sha256: file.sha256,
        bytes: file.bytes,
        ...(file.parts === undefined ? {} : { parts: file.parts }),
        ...(set.dtype === undefined ? {} : { dtype: set.dtype }),
        variant: set.variant,
      }))
    );
  });
  const loadedPerFile = new Map<string, number>();
  let packageLoaded = 0;

  const readFile = async (file: PackageFile): Promise<VerifiedFile> => {
    const report = (loaded: number) => {
      packageLoaded += loaded - (loadedPerFile.get(file.path) ?? 0);
      loadedPerFile.set(file.path, loaded);
      options.onProgress?.({
        type: "download",
        file: file.path,
        loaded,
        total: file.bytes,
        packageLoaded,
        packageTotal: totalBytes,
      });
    };
    const data = await source({
      url: file.url,
      bytes: file.bytes,
      sha256: file.sha256,
      signal: options.signal,
      onProgress: report,
    });
    await verifyFile(file.url, data, file);
    return { path: file.path, data };
  };

  const component = (name: string): ManifestComponent => {
    const found = manifest.components.find((candidate) => candidate.name === name);
    if (found === undefined) {
      throw new EditMGTError(
        "invalid_option",
        `model ${manifest.id} has no component "${name}" (it has ${
          manifest.components.map((candidate) => candidate.name).join(", ")
        })`,
      );
    }
    return found;
  };

  /** The files of component `name` in weight type `dtype` (default: its base files). */
  const filesOf = (name: string, dtype?: ComponentDtype): PackageFile[] => {
    const found = component(name);
    if (dtype !== undefined && !offeredDtypes(found).includes(dtype)) {
      throw new EditMGTError(
        "invalid_option",
        `component ${name} of model ${manifest.id} has no ${dtype} weights (it offers ${
          offeredDtypes(found).join(", ")
        })`,
      );
    }
    const variant = dtype !== undefined && dtype !== baseDtype(found);
    return files.filter((file) =>
      file.component === name && file.variant === variant && (!variant || file.dtype === dtype)
    );
  };
  const filesFor = (dtypes: Readonly<Record<string, ComponentDtype>> = {}): PackageFile[] =>
    manifest.components.flatMap((candidate) =>
      filesOf(
        candidate.name,
        Object.hasOwn(dtypes, candidate.name) ? dtypes[candidate.name] : undefined,
      )
    );
  const totalBytes = filesFor().reduce((sum, file) => sum + file.bytes, 0);

  return {
    manifest,
    manifestUrl: url,
    files,
    totalBytes,
    component,
    filesFor,
    async readComponent(name: string, dtype?: ComponentDtype): Promise<VerifiedFile[]> {
      const verified: VerifiedFile[] = [];
      for (const file of filesOf(name, dtype)) verified.push(await readFile(file));
      return verified;
    },
  };
}

function parseJson(bytes: Uint8Array, url: URL): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new EditMGTError("invalid_manifest", `${url.href} is not valid JSON: ${cause}`, {
      cause,
      details: { url: url.href },
    });
  }
}
