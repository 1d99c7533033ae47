// Typed wrappers of the attention kernels (filled in by the kernel work).
export {};
