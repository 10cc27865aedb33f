"""Time entries (UTBMS-coded narratives, some uncoded), expense entries and calendar entries."""
from __future__ import annotations

import numpy as np
import polars as pl

from .people import rate_on
from .scales import Scale, rng_for

# (task, activity, narrative). Every narrative has one clause, at least six words, and none of
# the vague phrases, admin or travel keywords of the OCG rules files, so base lines are clean.
TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "litigation": [
        ("L110", "A104", "Review and analyze produced emails from the key custodians"),
        ("L110", "A108", "Interview former operations manager about the shipment delays"),
        ("L120", "A101", "Prepare case strategy memorandum on liability and damages exposure"),
        ("L120", "A106", "Conference with client general counsel regarding litigation strategy"),
        ("L130", "A107", "Confer with damages expert about the lost profits model"),
        ("L160", "A103", "Draft mediation statement addressing causation and damages issues"),
        ("L210", "A103", "Draft answer and affirmative defenses to the amended complaint"),
        ("L240", "A102", "Research case law on summary judgment standard for fraud claims"),
        ("L240", "A103", "Revise brief in support of motion for summary judgment"),
        ("L250", "A103", "Draft motion to compel production of withheld board minutes"),
        ("L310", "A103", "Prepare responses and objections to second set of interrogatories"),
        ("L320", "A104", "Review privilege log entries for the document production"),
        ("L330", "A101", "Prepare outline for deposition of the chief financial officer"),
        ("L330", "A109", "Attend deposition of plaintiff's procurement director"),
        ("L350", "A103", "Draft letter brief on the discovery dispute over search terms"),
        ("L440", "A101", "Prepare witness examination outlines for the trial team"),
    ],
    "counseling": [
        ("C100", "A104", "Review supplier agreements for change of control provisions"),
        ("C100", "A106", "Call with client compliance team about the incident timeline"),
        ("C200", "A102", "Research state privacy statutes on breach notification deadlines"),
        ("C200", "A102", "Research export control classification for the new sensor product"),
        ("C300", "A103", "Draft advice memorandum on the proposed pricing program"),
        ("C300", "A104", "Analyze enforcement precedents for the antitrust risk assessment"),
        ("C300", "A105", "Confer with tax colleagues regarding the restructuring proposal"),
        ("C300", "A103", "Revise board presentation on regulatory compliance findings"),
        ("C400", "A108", "Correspond with the regulator about the voluntary disclosure"),
        ("C400", "A108", "Prepare for meeting with agency staff on the licence application"),
        ("C100", "A104", "Review internal audit report on the sales commission practices"),
        ("C200", "A102", "Research recent guidance on employee monitoring in the workplace"),
        ("C300", "A103", "Draft policy on acceptable use of generative AI tools"),
        ("C300", "A106", "Advise client on data retention obligations for customer records"),
        ("C400", "A107", "Confer with local counsel in Germany on works council consultation"),
        ("C300", "A101", "Plan compliance training program for the regional sales team"),
    ],
    "transactional": [
        ("P100", "A105", "Coordinate closing checklist with the corporate and tax teams"),
        ("P100", "A106", "Update client on status of regulatory approvals and conditions"),
        ("P200", "A104", "Review target material contracts in the virtual data room"),
        ("P200", "A103", "Draft due diligence report section on intellectual property"),
        ("P200", "A104", "Analyze target employment agreements for change of control payments"),
        ("P300", "A101", "Prepare term sheet comparison of the competing bids"),
        ("P300", "A106", "Advise client on structure of the earn out consideration"),
        ("P400", "A103", "Draft share purchase agreement warranties and indemnities"),
        ("P400", "A103", "Prepare disclosure letter against the seller warranties"),
        ("P400", "A107", "Negotiate transitional services agreement with seller counsel"),
        ("P400", "A103", "Revise escrow agreement following comments from the bank"),
        ("P500", "A104", "Review conditions precedent satisfaction evidence for completion"),
        ("P500", "A109", "Attend completion meeting and exchange of signature pages"),
        ("P500", "A103", "Prepare funds flow memorandum for the completion payments"),
        ("P300", "A102", "Research merger control thresholds in the relevant jurisdictions"),
        ("P400", "A108", "Correspond with lender counsel on the security package"),
    ],
}
MAX_PER_DAY = 14
DAILY_TENTHS = 80  # base hours of one timekeeper on one day never exceed 8.0

# (code, description, quantity range, unit cost range in cents)
EXPENSES = [
    ("E101", "Copying of exhibit binders for the hearing", (50, 600), (10, 10)),
    ("E106", "Online legal research database charges", (1, 1), (4500, 38000)),
    ("E107", "Courier delivery of documents to opposing counsel", (1, 1), (2500, 9500)),
    ("E108", "Postage for service of discovery responses", (1, 1), (500, 4000)),
    ("E112", "Court filing fee for motion papers", (1, 1), (35000, 40500)),
    ("E115", "Certified deposition transcript of witness testimony", (80, 300), (375, 375)),
]


def business_days(scale: Scale) -> np.ndarray:
    d = np.arange(np.datetime64(scale.start), np.datetime64(scale.end) + 1, dtype="datetime64[D]")
    return d[np.is_busday(d)]


def time_entries(scale: Scale, seed: int, tks: pl.DataFrame, md: pl.DataFrame,
                 team: pl.DataFrame, eff: np.ndarray, full_rates: np.ndarray) -> pl.DataFrame:
    rng = rng_for(seed, "time")
    days = business_days(scale)
    n_tk = tks.height
    counts = np.minimum(rng.poisson(scale.entries_per_tk_day, (n_tk, days.size)), MAX_PER_DAY)
    tk_day_tk = np.repeat(np.arange(n_tk), days.size)
    tk_day_day = np.tile(days, n_tk)
    c = counts.ravel()
    tk = np.repeat(tk_day_tk, c)
    day = np.repeat(tk_day_day, c)
    n_in_day = np.repeat(c, c)
    k_in_day = np.arange(tk.size) - np.repeat(np.cumsum(c) - c, c)
    n = tk.size
    # hours in tenths; the day's total stays within DAILY_TENTHS
    cap = np.minimum(40, DAILY_TENTHS // np.maximum(n_in_day, 1))
    tenths = 1 + (rng.random(n) * cap).astype(np.int64)
    # matter from the timekeeper's team list
    t_tk = team["tk"].to_numpy()
    t_m = team["matter"].to_numpy()
    per_tk = np.bincount(t_tk, minlength=n_tk)
    off = np.cumsum(per_tk) - per_tk
    matter = t_m[off[tk] + (rng.random(n) * per_tk[tk]).astype(np.int64)]
    area = md["practice_area"].to_numpy()[matter]
    area_code = np.select([area == "litigation", area == "counseling"], [0, 1], 2)
    # a template per entry, distinct within a timekeeper-day
    start_t = np.repeat(rng.integers(0, 16, tk_day_tk.size), c)
    tmpl = (start_t + k_in_day) % 16
    flat_t = [t for a in TEMPLATES for t in TEMPLATES[a]]
    gidx = pl.Series(area_code * 16 + tmpl)
    ebilled = md["ebilled"].to_numpy()[matter]
    u = rng.random(n)
    uncoded = pl.Series((~ebilled) & (u < 0.06))
    task = pl.Series([t[0] for t in flat_t], dtype=pl.String).gather(gidx).set(uncoded, None)
    act = pl.Series([t[1] for t in flat_t], dtype=pl.String).gather(gidx).set(uncoded, None)
    text = pl.Series([t[2] for t in flat_t], dtype=pl.String).gather(gidx)
    u2 = rng.random(n)
    non_billable = u2 < 0.03
    no_charge = (u2 >= 0.03) & (u2 < 0.05)
    written_off = (u2 >= 0.05) & (u2 < 0.06)
    price, prev = rate_on(eff, full_rates, tk, day)
    created_lag = rng.integers(0, 3, n)  # days after the work date the entry was recorded
    return pl.DataFrame({
        "tk": tk, "matter": matter, "date": day, "kind": "F",
        "units_x100": tenths * 10, "price_c": price * 100, "prev_price_c": prev * 100,
        "task": task, "activity": act,
        "expense_code": pl.Series([None] * n, dtype=pl.String),
        "narrative": text,
        "non_billable": non_billable, "no_charge": no_charge, "written_off": written_off,
        "created_lag": created_lag, "minute": rng.integers(0, 600, n),
    })


def expense_entries(scale: Scale, seed: int, md: pl.DataFrame, fees: pl.DataFrame) -> pl.DataFrame:
    """Disbursements on about a third of the matter-months with fee work."""
    rng = rng_for(seed, "expenses")
    mm = (fees.select("matter", month=pl.col("date").dt.truncate("1mo"))
          .unique().sort(["matter", "month"]))
    pick = rng.random(mm.height) < 0.35
    mm = mm.filter(pl.Series(pick))
    k = 1 + (rng.random(mm.height) < 0.3).astype(np.int64)
    matter = np.repeat(mm["matter"].to_numpy(), k)
    month = np.repeat(mm["month"].to_numpy().astype("datetime64[D]"), k)
    n = matter.size
    day = np.busday_offset(month, rng.integers(0, 19, n), roll="forward")
    day = np.minimum(day, np.datetime64(scale.end))
    month_end = (month.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    day = np.minimum(day, month_end)
    which = rng.integers(0, len(EXPENSES), n)
    qlo = np.array([e[2][0] for e in EXPENSES])[which]
    qhi = np.array([e[2][1] for e in EXPENSES])[which]
    plo = np.array([e[3][0] for e in EXPENSES])[which]
    phi = np.array([e[3][1] for e in EXPENSES])[which]
    qty = qlo + (rng.random(n) * (qhi - qlo + 1)).astype(np.int64)
    price = plo + (rng.random(n) * (phi - plo + 1)).astype(np.int64)
    resp = md["responsible_tk"].to_numpy()[matter]
    return pl.DataFrame({
        "tk": resp, "matter": matter, "date": day, "kind": "E", "units_x100": qty * 100,
        "price_c": price, "prev_price_c": price,
        "task": pl.Series([None] * n, dtype=pl.String),
        "activity": pl.Series([None] * n, dtype=pl.String),
        "expense_code": pl.Series(np.array([e[0] for e in EXPENSES])[which], dtype=pl.String),
        "narrative": pl.Series(np.array([e[1] for e in EXPENSES])[which], dtype=pl.String),
        "non_billable": np.zeros(n, bool), "no_charge": np.zeros(n, bool),
        "written_off": np.zeros(n, bool), "created_lag": rng.integers(0, 5, n),
        "minute": rng.integers(0, 600, n),
    })
