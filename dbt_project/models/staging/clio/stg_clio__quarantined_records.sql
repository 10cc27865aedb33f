-- grain: one row per raw_clio.quarantine row
{{ stage_quarantine('clio') }}
