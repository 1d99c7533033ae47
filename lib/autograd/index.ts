// lib/autograd: see DESIGN.md section 1.
export {};
