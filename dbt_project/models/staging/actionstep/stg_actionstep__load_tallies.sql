-- grain: one row per raw_actionstep.load_tally row
{{ stage_load_tally('actionstep') }}
