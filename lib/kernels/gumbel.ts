// Typed wrappers of the gumbel kernels (filled in by the kernel work).
export {};
