// lib/nn: see DESIGN.md section 1.
export {};
