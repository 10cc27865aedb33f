-- grain: one row per raw_ebilling.load_tally row
{{ stage_load_tally('ebilling') }}
