// lib/model: see DESIGN.md section 1.
export {};
