-- grain: one row per raw_clio.load_tally row
{{ stage_load_tally('clio') }}
