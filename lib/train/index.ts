// lib/train: see DESIGN.md section 1.
export {};
