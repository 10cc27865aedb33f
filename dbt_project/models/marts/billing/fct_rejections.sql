-- grain: one row per rejection of an invoice by an e-billing platform (a Rejected status event)
with

status_history as (

    select * from {{ ref('stg_ebilling__status_history') }}

),

ebilling_invoices as (

    select * from {{ ref('stg_ebilling__invoices') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

reasons as (

    select * from {{ ref('int_ebilling_reasons_normalised') }}

),

rejections as (

    select * from status_history where status = 'Rejected'

),

later_events as (

    select
        r.status_event_id,
        min(case when h.status in ('Submitted', 'Appealed') then h.status_at end) as resubmitted_at,
        min(case when h.status in ('Approved', 'Paid') then h.status_at end) as approved_at
    from rejections as r
    inner join status_history as h
        on h.invoice_number = r.invoice_number and h.status_at > r.status_at
    group by r.status_event_id

),

final as (

    select
        -- keys
        r.status_event_id as rejection_id,
        r.invoice_number,
        r.ebilling_invoice_id,
        e.platform,
        coalesce(i.matter_number, e.matter_number) as matter_number,
        coalesce(m.client_code, e.client_code) as client_code,
        m.billing_partner_timekeeper_id,
        i.office,

        -- dates
        r.status_at as rejected_at,
        cast(r.status_at as date) as rejected_date,
        e.submitted_at,
        le.resubmitted_at,
        le.approved_at,

        -- reason
        r.reason_text,
        coalesce(n.reason_code, 'OTHER') as reason_code,
        coalesce(n.reason_label, 'Other or unrecognised reason') as reason_label,
        r.comment,
        le.approved_at is not null as is_resolved,

        -- amounts
        coalesce(e.currency, i.currency) as currency,
        e.submitted_total,
        i.total_amount as lpm_total_amount
    from rejections as r
    left join ebilling_invoices as e on e.ebilling_invoice_id = r.ebilling_invoice_id
    left join invoices as i on i.invoice_number = r.invoice_number
    left join matters as m on m.matter_number = i.matter_number
    left join reasons as n on n.reason_text = r.reason_text
    left join later_events as le on le.status_event_id = r.status_event_id

)

select * from final
