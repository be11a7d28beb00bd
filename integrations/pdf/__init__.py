"""Documents rendered as PDF (fpdf2): invoices and credit notes."""
