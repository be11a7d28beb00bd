"""Companies (B2B): their locations and contacts, price list, payment terms, credit limit
and tax exemption; the account of what they owe."""
