-- grain: one row per raw_actionstep.quarantine row
{{ stage_quarantine('actionstep') }}
