"""PyTorch reference of the EditMGT architecture (transformer, VQ tokenizer, sampler) with upstream names."""
