// lib/data: see DESIGN.md section 1.
export {};
