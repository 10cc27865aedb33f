-- grain: one row per raw_ebilling.quarantine row
{{ stage_quarantine('ebilling') }}
