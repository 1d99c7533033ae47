// Typed wrappers of the four kernel families (and the support ops the model needs).
export * from './attention';
export * from './vq';
export * from './gumbel';
export * from './boxes';
export * as support from './support';
