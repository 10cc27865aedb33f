{#-
  ar_aging_sql: open AR per invoice at one or more as-of dates (the body of fct_ar_aging, of the
  collections worklist, and of the DuckDB table macro ar_aging_as_of() published with the marts).

  Arguments are relation names (rendered refs, or schema-qualified names for the table macro)
  and `as_of_dates`: a query returning one column `as_of_date`.

  Rules (documented in docs/warehouse.md):
  - an invoice is in AR from its invoice_date; void invoices never are;
  - payments (not voided) and AR write-offs reduce it from max(their date, invoice_date);
  - an invoice appears at an as-of date while its open amount is not zero (overpaid = negative);
  - age from invoice date = as_of - invoice_date; days past due = as_of - due_date;
    both bucketed with aging_bucket(): 0-30 (current), 31-60, 61-90, 91-120, 120+;
  - e-billing status = the platform's last status event on or before the as-of date.
-#}
{% macro ar_aging_sql(invoices, payments, write_offs, status_history, matters, fx, as_of_dates) -%}
with

as_of_dates as (
    {{ as_of_dates }}
),

invoices as (
    select * from {{ invoices }} where status <> 'void'
),

payment_events as (
    select p.invoice_number, greatest(p.payment_date, i.invoice_date) as effective_date, p.amount
    from {{ payments }} as p
    inner join invoices as i on i.invoice_number = p.invoice_number
    where not p.is_voided
),

write_off_events as (
    select w.invoice_number, greatest(w.write_off_date, i.invoice_date) as effective_date, w.amount
    from {{ write_offs }} as w
    inner join invoices as i on i.invoice_number = w.invoice_number
),

invoice_dates as (
    select i.*, d.as_of_date
    from invoices as i
    inner join as_of_dates as d on i.invoice_date <= d.as_of_date
),

collected as (
    select d.as_of_date, e.invoice_number, sum(e.amount) as amount
    from payment_events as e
    inner join as_of_dates as d on e.effective_date <= d.as_of_date
    group by all
),

written_off as (
    select d.as_of_date, e.invoice_number, sum(e.amount) as amount
    from write_off_events as e
    inner join as_of_dates as d on e.effective_date <= d.as_of_date
    group by all
),

status_as_of as (
    select d.as_of_date, h.invoice_number, arg_max(h.status, h.status_at) as ebilling_status
    from {{ status_history }} as h
    inner join as_of_dates as d on cast(h.status_at as date) <= d.as_of_date
    group by all
),

balances as (
    select
        i.as_of_date,
        i.invoice_number,
        i.matter_number,
        m.client_code,
        i.payer_client_code,
        m.billing_partner_timekeeper_id,
        i.office,
        i.invoice_date,
        i.due_date,
        cast(i.as_of_date - i.invoice_date as integer) as days_since_invoice,
        cast(i.as_of_date - i.due_date as integer) as days_past_due,
        s.ebilling_status,
        i.currency,
        i.total_amount as billed_amount,
        cast(coalesce(c.amount, 0) as decimal(18, 2)) as collected_amount,
        cast(coalesce(w.amount, 0) as decimal(18, 2)) as written_off_amount,
        cast(i.total_amount - coalesce(c.amount, 0) - coalesce(w.amount, 0) as decimal(18, 2)) as open_amount,
        fx.rate_to_usd as invoice_fx_rate_to_usd
    from invoice_dates as i
    left join collected as c on c.as_of_date = i.as_of_date and c.invoice_number = i.invoice_number
    left join written_off as w on w.as_of_date = i.as_of_date and w.invoice_number = i.invoice_number
    left join status_as_of as s on s.as_of_date = i.as_of_date and s.invoice_number = i.invoice_number
    left join {{ matters }} as m on m.matter_number = i.matter_number
    left join {{ fx }} as fx
        on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')
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
    {{ to_usd('open_amount', 'invoice_fx_rate_to_usd') }} as open_amount_usd
from balances
where open_amount <> 0
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
