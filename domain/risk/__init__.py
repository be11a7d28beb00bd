"""Risk screening of new orders: the merchant's rules, their settings, the RiskProvider port."""
