-- grain: one row per raw_sales.load_tally row
{{ stage_load_tally('sales') }}
