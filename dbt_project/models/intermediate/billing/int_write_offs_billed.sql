-- grain: one row per write-down or write-off of billed work (write_off_key): the pre-bill line
-- discounts of invoice lines (quantity x price - billed, across the payers' lines of a split
-- bill), e-billing reductions and AR write-offs. int_write_offs_unioned adds the WIP written
-- off; this part reads no time entry, so a day of new time entries leaves it as it is.
-- amount is positive: the value lost.
with

invoice_lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

adjustments as (

    select * from {{ ref('stg_ebilling__adjustments') }}

),

appeals as (

    select * from {{ ref('stg_ebilling__appeals') }}

),

ebilling_invoices as (

    select * from {{ ref('stg_ebilling__invoices') }}

),

reasons as (

    select * from {{ ref('int_ebilling_reasons_normalised') }}

),

ar_write_offs as (

    select * from {{ ref('int_ar_write_offs_unioned') }}

),

line_values as (

    -- One group per billed item: an entry billed on one line, or on one line per payer when
    -- the matter is split (each payer's line has the full quantity x price and its share in the
    -- adjustment). Lines without an entry (flat fees) group by matter, period and line number.
    select
        coalesce(
            l.time_entry_key,
            l.expense_key,
            i.matter_number || '|' || cast(i.billing_start_date as varchar) || '|' || l.line_number
        ) as billed_item_key,
        min(l.invoice_line_key) as invoice_line_key,
        min(l.invoice_number) as invoice_number,
        min(l.line_number) as line_number,
        min(i.matter_number) as matter_number,
        min(l.timekeeper_id) as timekeeper_id,
        min(i.invoice_date) as invoice_date,
        min(i.currency) as currency,
        max(cast(round(l.quantity * l.unit_price, 2) as decimal(18, 2))) as gross_amount,
        sum(l.line_total) as billed_amount
    from invoice_lines as l
    inner join invoices as i on i.invoice_number = l.invoice_number
    where i.status <> 'void'
    group by 1

),

line_discounts as (

    select
        'line_adjustment:' || invoice_line_key as write_off_key,
        'pre_bill_write_down' as write_off_type,
        'lpm_line_adjustment' as write_off_source,
        invoice_number,
        line_number,
        matter_number,
        timekeeper_id,
        invoice_date as write_off_date,
        currency,
        cast(gross_amount - billed_amount as decimal(18, 2)) as amount,
        cast(0 as decimal(18, 2)) as amount_recovered,
        cast(null as varchar) as reason_text,
        'DISCOUNT' as reason_code
    from line_values
    where gross_amount - billed_amount > 0

),

appeal_recoveries as (

    select adjustment_id, sum(coalesce(amount_recovered, 0)) as amount_recovered
    from appeals
    where outcome = 'granted'
    group by adjustment_id

),

ebilling_reductions as (

    select
        'ebilling_adjustment:' || a.adjustment_id,
        'ebilling_reduction',
        'ebilling_adjustment',
        a.invoice_number,
        a.line_item_number,
        coalesce(i.matter_number, e.matter_number),
        l.timekeeper_id,
        cast(a.adjusted_at as date),
        coalesce(i.currency, e.currency),
        cast(-a.amount as decimal(18, 2)),
        cast(coalesce(r.amount_recovered, 0) as decimal(18, 2)),
        a.reason_text,
        coalesce(n.reason_code, 'OTHER')
    from adjustments as a
    left join invoices as i on i.invoice_number = a.invoice_number
    left join ebilling_invoices as e on e.ebilling_invoice_id = a.ebilling_invoice_id
    left join invoice_lines as l
        on l.invoice_number = a.invoice_number and l.line_number = a.line_item_number
    left join appeal_recoveries as r on r.adjustment_id = a.adjustment_id
    left join reasons as n on n.reason_text = a.reason_text

),

ar as (

    select
        'ar_write_off:' || w.ar_write_off_key,
        'ar_write_off',
        'lpm_' || w.source_system,
        w.invoice_number,
        cast(null as varchar),
        i.matter_number,
        cast(null as varchar),
        w.write_off_date,
        w.currency,
        w.amount,
        cast(0 as decimal(18, 2)),
        w.reason,
        'AR_WRITE_OFF'
    from ar_write_offs as w
    left join invoices as i on i.invoice_number = w.invoice_number

),

final as (

    select * from line_discounts
    union all
    select * from ebilling_reductions
    union all
    select * from ar

)

select * from final
