-- grain: one row per non-void LPM invoice: the value chain of the work it bills, worked (time
-- at standard rate) -> billed -> approved (e-billing; the billed total when not e-billed) ->
-- collected to date, in invoice currency and in USD at the month-end rate of the invoice month.
with

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

time_entries as (

    -- the billed entries only: a new unbilled entry leaves this model as it was
    -- (macros/delta_reads.sql)
    select * from {{ delta_read('int_time_entries_valued', 'invoice_number is not null') }}

),

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

ebilling_invoices as (

    select * from {{ ref('int_ebilling_invoices_latest') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

worked as (

    select invoice_number, sum(hours_worked) as hours_worked, sum(worked_value_standard) as worked_value
    from time_entries
    group by invoice_number

),

fees as (

    select
        invoice_number,
        sum(case when line_type in ('F', 'IF') then line_total else 0 end) as billed_fees
    from invoice_lines
    group by invoice_number

),

paid as (

    select invoice_number, sum(amount) as collected
    from payments
    where not is_voided
    group by invoice_number

),

joined as (

    select
        i.invoice_number,
        strftime(i.invoice_date, '%Y-%m') as invoice_month,
        i.matter_number,
        coalesce(i.payer_client_code, m.client_code) as client_code,
        m.billing_partner_timekeeper_id,
        i.office,
        i.currency,
        fx.rate_to_usd,
        e.invoice_number is not null as is_ebilled,
        coalesce(w.hours_worked, 0) as hours_worked,
        coalesce(w.worked_value, 0) as worked_value,
        coalesce(f.billed_fees, 0) as billed_fees,
        i.total_amount as billed_total,
        case when e.invoice_number is null then i.total_amount
             else coalesce(e.approved_total, 0) end as approved_total,
        case when e.invoice_number is not null and e.approved_total is null then i.total_amount
             else 0 end as pending_approval_total,
        coalesce(p.collected, 0) as collected
    from invoices as i
    left join matters as m on m.matter_number = i.matter_number
    left join fx on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')
    left join worked as w on w.invoice_number = i.invoice_number
    left join fees as f on f.invoice_number = i.invoice_number
    left join paid as p on p.invoice_number = i.invoice_number
    left join ebilling_invoices as e on e.invoice_number = i.invoice_number
    where i.status <> 'void'

),

final as (

    select
        invoice_number,
        invoice_month,
        matter_number,
        client_code,
        billing_partner_timekeeper_id,
        office,
        currency,
        rate_to_usd,
        is_ebilled,
        cast(hours_worked as decimal(18, 4)) as hours_worked,
        cast(worked_value as decimal(18, 2)) as worked_value,
        cast(billed_fees as decimal(18, 2)) as billed_fees,
        cast(billed_total as decimal(18, 2)) as billed_total,
        cast(approved_total as decimal(18, 2)) as approved_total,
        cast(pending_approval_total as decimal(18, 2)) as pending_approval_total,
        cast(collected as decimal(18, 2)) as collected,
        {{ to_usd('worked_value', 'rate_to_usd') }} as worked_value_usd,
        {{ to_usd('billed_fees', 'rate_to_usd') }} as billed_fees_usd,
        {{ to_usd('billed_total', 'rate_to_usd') }} as billed_usd,
        {{ to_usd('approved_total', 'rate_to_usd') }} as approved_usd,
        {{ to_usd('pending_approval_total', 'rate_to_usd') }} as pending_approval_usd,
        {{ to_usd('collected', 'rate_to_usd') }} as collected_usd
    from joined

)

select * from final
