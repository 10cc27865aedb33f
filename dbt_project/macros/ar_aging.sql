{#-
  ar_aging_sql: open AR per invoice at one or more as-of dates (the body of fct_ar_aging, of the
  collections worklist, and of the DuckDB table macros ar_aging_as_of() and ar_aging_as_of_dates()
  published with the marts: see ar_aging_table_macros below).

  Arguments are relation names (rendered refs, or schema-qualified names for the table macros)
  and `as_of_dates`: a query returning one column `as_of_date`.

  Rules (documented in docs/warehouse.md):
  - an invoice is in AR from its invoice_date; void invoices (and invoices without a date) never are;
  - payments (not voided) and AR write-offs reduce it from max(their date, invoice_date);
  - an invoice appears at an as-of date while its open amount is not zero (overpaid = negative);
  - age from invoice date = as_of - invoice_date; days past due = as_of - due_date;
    both bucketed with aging_bucket(): 0-30 (current), 31-60, 61-90, 91-120, 120+;
  - e-billing status = the platform's last status event on or before the as-of date.

  Set-based, so that many as-of dates cost about what one does: an invoice's open amount and
  e-billing status change only on the dates of its own events (payments, write-offs, status
  changes), so its running totals and last status are computed once per event date, as
  intervals [valid_from, valid_until); only intervals with a non-zero open amount are kept, and
  each as-of date picks the interval that contains it (a range join that yields only output
  rows, never as-of dates x invoices or as-of dates x events).
-#}
{% macro ar_aging_sql(invoices, payments, write_offs, status_history, matters, fx, as_of_dates) -%}
with

as_of_dates as (
    {{ as_of_dates }}
),

invoices as (
    select
        invoice_number, matter_number, payer_client_code, office, invoice_date, due_date, currency,
        total_amount
    from {{ invoices }}
    where status <> 'void' and invoice_date is not null
),

events as (
    -- every dated change of an invoice: itself (billed, nothing collected yet), its payments and
    -- write-offs, and its e-billing status events, each effective from max(its date, invoice_date)
    select invoice_number, invoice_date as effective_date, total_amount as billed,
           cast(null as decimal(18, 2)) as collected, cast(null as decimal(18, 2)) as written_off,
           cast(null as varchar) as status, cast(null as timestamp) as status_at
    from invoices
    union all
    select p.invoice_number, greatest(p.payment_date, i.invoice_date), null, p.amount, null, null, null
    from {{ payments }} as p
    inner join invoices as i on i.invoice_number = p.invoice_number
    where not p.is_voided
    union all
    select w.invoice_number, greatest(w.write_off_date, i.invoice_date), null, null, w.amount, null, null
    from {{ write_offs }} as w
    inner join invoices as i on i.invoice_number = w.invoice_number
    union all
    select h.invoice_number, greatest(cast(h.status_at as date), i.invoice_date), null, null, null,
           h.status, h.status_at
    from {{ status_history }} as h
    inner join invoices as i on i.invoice_number = h.invoice_number
    where h.status is not null and h.status_at is not null
),

timeline as (
    -- per invoice and event date: totals and last status so far, valid until its next event date
    select
        invoice_number,
        effective_date as valid_from,
        coalesce(lead(effective_date) over by_date, date '9999-12-31') as valid_until,
        sum(sum(billed)) over by_date as billed,
        coalesce(sum(sum(collected)) over by_date, 0) as collected,
        coalesce(sum(sum(written_off)) over by_date, 0) as written_off,
        last_value(arg_max(status, status_at) ignore nulls) over by_date as ebilling_status
    from events
    group by invoice_number, effective_date
    window by_date as (partition by invoice_number order by effective_date)
),

open_intervals as (
    -- the intervals with a non-zero open amount, with what the invoice's rows carry
    select
        t.invoice_number,
        i.matter_number,
        m.client_code,
        i.payer_client_code,
        m.billing_partner_timekeeper_id,
        i.office,
        i.invoice_date,
        i.due_date,
        t.ebilling_status,
        i.currency,
        i.total_amount as billed_amount,
        cast(t.collected as decimal(18, 2)) as collected_amount,
        cast(t.written_off as decimal(18, 2)) as written_off_amount,
        cast(t.billed - t.collected - t.written_off as decimal(18, 2)) as open_amount,
        fx.rate_to_usd as invoice_fx_rate_to_usd,
        {{ to_usd('cast(t.billed - t.collected - t.written_off as decimal(18, 2))', 'fx.rate_to_usd') }} as open_amount_usd,
        t.valid_from,
        t.valid_until
    from timeline as t
    inner join invoices as i on i.invoice_number = t.invoice_number
    left join {{ matters }} as m on m.matter_number = i.matter_number
    left join {{ fx }} as fx
        on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')
    where t.billed - t.collected - t.written_off <> 0
),

balances as (
    select
        d.as_of_date,
        o.*,
        cast(d.as_of_date - o.invoice_date as integer) as days_since_invoice,
        cast(d.as_of_date - o.due_date as integer) as days_past_due
    from open_intervals as o
    inner join as_of_dates as d on d.as_of_date >= o.valid_from and d.as_of_date < o.valid_until
)

select
    as_of_date,
    invoice_number,
    matter_number,
    client_code,
    payer_client_code,
    billing_partner_timekeeper_id,
    office,
    invoice_date,
    due_date,
    days_since_invoice,
    days_past_due,
    {{ aging_bucket('days_since_invoice') }} as aging_bucket_invoice_date,
    cast({{ aging_bucket_order('days_since_invoice') }} as integer) as aging_bucket_invoice_date_order,
    {{ aging_bucket('days_past_due') }} as aging_bucket_due_date,
    cast({{ aging_bucket_order('days_past_due') }} as integer) as aging_bucket_due_date_order,
    ebilling_status,
    currency,
    billed_amount,
    collected_amount,
    written_off_amount,
    open_amount,
    invoice_fx_rate_to_usd,
    open_amount_usd
from balances
{%- endmacro %}


{#- The DuckDB table macros fct_ar_aging publishes in `schema` (post-hooks), both ar_aging_sql over
    the warehouse's own relations: ar_aging_as_of(DATE) for one as-of date, and
    ar_aging_as_of_dates(DATE[]) for many in one query (the collections model's weekly
    snapshots). -#}
{% macro ar_aging_table_macros(schema) -%}
    {%- set r = ['intermediate.int_invoices_unioned', 'intermediate.int_payments_unioned',
                 'intermediate.int_ar_write_offs_unioned', 'staging.stg_ebilling__status_history',
                 'intermediate.int_matters_conformed', 'intermediate.int_fx_month_end_rates'] -%}
    {{ return([
        "create or replace macro " ~ schema ~ ".ar_aging_as_of(as_of) as table "
            ~ ar_aging_sql(r[0], r[1], r[2], r[3], r[4], r[5],
                           'select cast(as_of as date) as as_of_date'),
        "create or replace macro " ~ schema ~ ".ar_aging_as_of_dates(as_of_dates) as table "
            ~ ar_aging_sql(r[0], r[1], r[2], r[3], r[4], r[5],
                           'select distinct unnest(cast(as_of_dates as date[])) as as_of_date'),
    ]) }}
{%- endmacro %}


{#- The as-of dates of fct_ar_aging: every month-end from the first invoice month to the month of
    the last AR event, plus var('ar_as_of_date') when set. -#}
{% macro ar_month_end_dates(invoices, payments, write_offs) -%}
    select distinct as_of_date from (
        select cast(last_day(unnest(generate_series(
            cast(date_trunc('month', min(invoice_date)) as date),
            cast(date_trunc('month', greatest(
                max(invoice_date),
                coalesce((select max(payment_date) from {{ payments }}), max(invoice_date)),
                coalesce((select max(write_off_date) from {{ write_offs }}), max(invoice_date))
            )) as date),
            interval 1 month
        ))) as date) as as_of_date
        from {{ invoices }}
        {%- if var('ar_as_of_date', none) %}
        union all
        select cast('{{ var("ar_as_of_date") }}' as date)
        {%- endif %}
    )
    where as_of_date is not null
{%- endmacro %}


{#- The data's as-of date: the latest AR event (invoice, payment, write-off, e-billing status). -#}
{% macro data_as_of_date(invoices, payments, write_offs, status_history) -%}
    select coalesce(
        cast({{ "'" ~ var('ar_as_of_date') ~ "'" if var('ar_as_of_date', none) else 'null' }} as date),
        greatest(
            (select max(invoice_date) from {{ invoices }}),
            coalesce((select max(payment_date) from {{ payments }}), date '1900-01-01'),
            coalesce((select max(write_off_date) from {{ write_offs }}), date '1900-01-01'),
            coalesce((select cast(max(status_at) as date) from {{ status_history }}), date '1900-01-01')
        )
    ) as as_of_date
{%- endmacro %}
