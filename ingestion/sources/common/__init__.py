"""Pieces every lexrecon source shares: the ledger (quarantine + tally), Arrow pages, HTTP."""
