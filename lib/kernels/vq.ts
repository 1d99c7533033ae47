// Typed wrappers of the vq kernels (filled in by the kernel work).
export {};
