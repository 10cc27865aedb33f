-- grain: one row per leakage event (leakage_event_key) of the six billing categories of
-- int_leakage_events (domain.md section 4), with its columns:
--   WRITE_DOWN           pre-bill write-downs: line discounts, WIP time/expenses written off
--   RATE_BELOW_STANDARD  fee lines billed below the timekeeper's standard rate
--   EBILLING_REDUCTION   e-billing line cuts by the client, net of appeal recoveries
--   LATE_SUBMISSION      e-billing cuts for late invoices or time past the client's cut-off
--   SHORT_PAY            e-billed invoices paid below the approved total
--   AR_WRITE_OFF         billed balances written off
-- amount_local is positive (value lost) in the row's currency; amount_usd at the month-end
-- rate of the event month. The time categories are int_leakage_time_events.
-- int_time_entries_valued is read only through billed_entries, whose one predicate
-- (billed_amount is not null) covers every entry read here, so a change to entries nobody has
-- billed (a day of new time) leaves this model as it is. RATE_BELOW_STANDARD joins the unioned
-- lines to those entries (reading fct_invoice_lines, which carries both, would make this model
-- wait for the full build's longest model).
with

billed_entries as (

    -- every entry an invoice line points to: its billed_amount is the sum of its line totals,
    -- never null in a green build (fct_invoice_lines' not-null contract on every line of an
    -- invoice), so the filter drops no entry that rate_below_standard joins
    -- (delta_read, macros/delta_reads.sql: the daily run skips this model when no entry it
    -- reads changed)
    select time_entry_key, standard_rate
    from {{ delta_read('int_time_entries_valued', 'billed_amount is not null') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

write_offs as (

    select * from {{ ref('int_write_offs_unioned') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

ebilling_invoices as (

    select * from {{ ref('int_ebilling_invoices_latest') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

write_downs as (

    select
        'write_down:' || w.write_off_key as leakage_event_key,
        'WRITE_DOWN' as leakage_category,
        w.write_off_date as event_date,
        w.matter_number,
        w.timekeeper_id,
        w.invoice_number,
        coalesce(w.currency, cl.currency) as currency,
        cast(null as decimal(18, 4)) as hours,
        w.amount as amount_local,
        w.reason_code as detail
    from write_offs as w
    left join matters as m on m.matter_number = w.matter_number
    left join clients as cl on cl.client_code = m.client_code
    where w.write_off_type = 'pre_bill_write_down'

),

rate_below_standard as (

    select
        'rate:' || l.invoice_line_key,
        'RATE_BELOW_STANDARD',
        i.invoice_date,
        i.matter_number,
        l.timekeeper_id,
        l.invoice_number,
        i.currency,
        l.quantity,
        cast(round((te.standard_rate - l.unit_price) * l.quantity, 2) as decimal(18, 2)),
        'billed at ' || l.unit_price || ', standard ' || te.standard_rate
    from invoice_lines as l
    inner join invoices as i on i.invoice_number = l.invoice_number
    inner join billed_entries as te on te.time_entry_key = l.time_entry_key
    where i.status <> 'void' and l.line_type = 'F' and l.unit_price < te.standard_rate

),

ebilling_cuts as (

    select
        'ebilling:' || write_off_key,
        case when reason_code in ('LATE', 'DATE_RANGE') then 'LATE_SUBMISSION'
             else 'EBILLING_REDUCTION' end,
        write_off_date,
        matter_number,
        timekeeper_id,
        invoice_number,
        currency,
        cast(null as decimal(18, 4)),
        cast(amount - amount_recovered as decimal(18, 2)),
        reason_code
    from write_offs
    where write_off_type = 'ebilling_reduction' and amount - amount_recovered > 0

),

paid as (

    select invoice_number, sum(amount) as paid_amount, max(payment_date) as last_payment_date
    from payments
    where not is_voided
    group by invoice_number

),

short_pays as (

    -- a settled invoice (LPM status paid, or the platform says Paid) that received payments,
    -- but less than approved (the e-billing approved total; the invoice total if not e-billed)
    select
        'short_pay:' || i.invoice_number,
        'SHORT_PAY',
        p.last_payment_date,
        i.matter_number,
        cast(null as varchar),
        i.invoice_number,
        i.currency,
        cast(null as decimal(18, 4)),
        cast(coalesce(e.approved_total, i.total_amount) - p.paid_amount as decimal(18, 2)),
        'approved ' || coalesce(e.approved_total, i.total_amount) || ', paid ' || p.paid_amount
    from invoices as i
    inner join paid as p on p.invoice_number = i.invoice_number
    left join ebilling_invoices as e on e.invoice_number = i.invoice_number
    where i.status <> 'void'
      and (i.status = 'paid' or e.ebilling_status = 'Paid')
      and p.paid_amount > 0
      and (e.invoice_number is null or e.approved_total is not null)
      and coalesce(e.approved_total, i.total_amount) > p.paid_amount

),

ar_write_offs as (

    select
        'ar_write_off:' || write_off_key,
        'AR_WRITE_OFF',
        write_off_date,
        matter_number,
        timekeeper_id,
        invoice_number,
        currency,
        cast(null as decimal(18, 4)),
        amount,
        reason_text
    from write_offs
    where write_off_type = 'ar_write_off'

),

unioned as (

    select * from write_downs
    union all select * from rate_below_standard
    union all select * from ebilling_cuts
    union all select * from short_pays
    union all select * from ar_write_offs

),

final as (

    -- int_leakage_events' columns (the same for both parts, macros/leakage.sql)
    {{ leakage_events_enriched('unioned', 'matters', 'fx') }}

)

select * from final
