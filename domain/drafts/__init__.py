"""Draft orders: orders taken by staff (phone, email, sales reps, B2B) before they are placed."""
