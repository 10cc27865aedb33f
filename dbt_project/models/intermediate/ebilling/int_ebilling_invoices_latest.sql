-- grain: one row per invoice_number on the e-billing platforms (the latest submission when an
-- invoice was reposted under the same number); submission_count says how many there were
with

ebilling_invoices as (

    select * from {{ ref('stg_ebilling__invoices') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by invoice_number order by submitted_at desc nulls last, ebilling_invoice_id desc
        ) as submission_rank,
        count(*) over (partition by invoice_number) as submission_count
    from ebilling_invoices
    where invoice_number is not null

),

final as (

    select
        invoice_number,
        ebilling_invoice_id,
        platform,
        client_code,
        matter_number,
        client_matter_id,
        invoice_date,
        submitted_at,
        status as ebilling_status,
        status_at as ebilling_status_at,
        currency,
        submitted_total,
        approved_total,
        submission_count
    from ranked
    where submission_rank = 1

)

select * from final
