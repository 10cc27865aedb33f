-- grain: one row per raw_ledes.load_tally row
{{ stage_load_tally('ledes') }}
