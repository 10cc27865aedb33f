-- grain: one row per raw_ledes.quarantine row
{{ stage_quarantine('ledes') }}
