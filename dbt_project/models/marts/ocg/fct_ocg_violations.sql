-- grain: one row per OCG finding (violation_key = file | invoice | line | rule code): a
-- submitted LEDES line (or invoice) breaking its client's OCG rules file, as `lexrecon check`
-- reports it (same engine, same rules files; see int_ocg_findings_evaluated).
with

findings as (

    select * from {{ ref('int_ocg_findings_evaluated') }}

),

ledes_lines as (

    select * from {{ ref('stg_ledes__ledes_lines') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

invoice_headers as (

    -- the invoice's first record carries its header values (LEDES spec)
    select
        file_name,
        invoice_number,
        arg_min(client_id, record_no) as client_code,
        arg_min(law_firm_matter_id, record_no) as matter_number,
        arg_min(invoice_date, record_no) as invoice_date
    from ledes_lines
    group by file_name, invoice_number

),

final as (

    select
        -- keys
        f.file_name || '|' || f.invoice_number || '|' || coalesce(f.line_item_number, '')
            || '|' || f.rule_code as violation_key,
        f.file_name,
        f.record_no,
        f.invoice_number,
        f.line_item_number,
        f.rule_code,
        h.client_code,
        coalesce(l.law_firm_matter_id, h.matter_number) as matter_number,
        l.timekeeper_id,
        m.billing_partner_timekeeper_id,
        coalesce(i.office, m.office) as office,

        -- dates
        h.invoice_date,
        l.line_item_date as line_date,

        -- finding
        f.severity,
        f.message,
        f.rules_file,
        l.exp_fee_inv_adj_type as line_type,
        l.line_item_description as line_description,

        -- amounts
        i.currency,
        cast(l.line_item_total as decimal(18, 4)) as line_total,
        cast(f.amount_at_risk as decimal(18, 2)) as amount_at_risk,
        {{ to_usd('f.amount_at_risk', 'fx.rate_to_usd') }} as amount_usd
    from findings as f
    left join invoice_headers as h
        on h.file_name = f.file_name and h.invoice_number = f.invoice_number
    left join ledes_lines as l
        on l.file_name = f.file_name and l.record_no = f.record_no and f.line_item_number is not null
    left join invoices as i on i.invoice_number = f.invoice_number
    left join matters as m on m.matter_number = coalesce(l.law_firm_matter_id, h.matter_number)
    left join fx on fx.currency = upper(i.currency) and fx.month = strftime(h.invoice_date, '%Y-%m')

)

select * from final
