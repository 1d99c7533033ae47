// Typed wrappers of the boxes kernels (filled in by the kernel work).
export {};
