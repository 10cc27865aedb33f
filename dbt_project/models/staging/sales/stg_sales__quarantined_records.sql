-- grain: one row per raw_sales.quarantine row
{{ stage_quarantine('sales') }}
