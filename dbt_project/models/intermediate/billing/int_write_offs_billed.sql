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

lines_itemised as (

    -- One group per billed item: an entry billed on one line, or on one line per payer when
    -- the matter is split (each payer's line has the full quantity x price and its share in the
    -- adjustment). Lines without an entry (flat fees) group by matter, period and line number.
    select
        coalesce(
            l.time_entry_key,
            l.expense_key,
            i.matter_number || '|' || cast(i.billing_start_date as varchar) || '|' || l.line_number
        ) as billed_item_key,
        l.invoice_line_key,
        l.invoice_number,
        l.line_number,
        i.matter_number,
        l.timekeeper_id,
        i.invoice_date,
        i.currency,
        cast(round(l.quantity * l.unit_price, 2) as decimal(18, 2)) as gross_amount,
        l.line_total
    from invoice_lines as l
    inner join invoices as i on i.invoice_number = l.invoice_number
    where i.status <> 'void'

),

discounted_items as (

    -- the items billed for less than quantity x price: only their lines need the text columns
    -- below (aggregating those over every line costs more than the rest of the model)
    select
        billed_item_key,
        max(gross_amount) as gross_amount,
        sum(line_total) as billed_amount
    from lines_itemised
    group by billed_item_key
    having max(gross_amount) - sum(line_total) > 0

),

line_values as (

    select
        d.billed_item_key,
        min(l.invoice_line_key) as invoice_line_key,
        min(l.invoice_number) as invoice_number,
        min(l.line_number) as line_number,
        min(l.matter_number) as matter_number,
        min(l.timekeeper_id) as timekeeper_id,
        min(l.invoice_date) as invoice_date,
        min(l.currency) as currency,
        any_value(d.gross_amount) as gross_amount,
        any_value(d.billed_amount) as billed_amount
    from discounted_items as d
    inner join lines_itemised as l on l.billed_item_key is not distinct from d.billed_item_key
    group by d.billed_item_key

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

adjusted_lines as (

    -- the lines e-billing adjusted (a semi-join: no hash table of every invoice line)
    select invoice_number, line_number, timekeeper_id
    from invoice_lines
    where (invoice_number, line_number) in (select invoice_number, line_item_number from adjustments)

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
    left join adjusted_lines as l
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
