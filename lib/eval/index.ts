// lib/eval: see DESIGN.md section 1.
export {};
