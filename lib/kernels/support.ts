// Typed wrappers of the support kernels (filled in by the kernel work).
export {};
