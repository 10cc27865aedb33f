-- grain: one row per matter (matter_number)
with

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

final as (

    select
        -- keys
        m.matter_number,
        m.client_code,
        m.client_matter_id,
        m.billing_partner_timekeeper_id,
        m.responsible_timekeeper_id,
        m.source_system,
        m.source_matter_id,
        -- attributes
        m.matter_name,
        c.client_name,
        m.office,
        c.currency,
        c.ebilling_platform,
        m.status,
        m.billing_method,
        m.flat_fee,
        m.is_billable,
        m.practice_area,
        bp.timekeeper_name as billing_partner_name,
        resp.timekeeper_name as responsible_timekeeper_name,
        -- dates
        m.open_date,
        m.close_date
    from matters as m
    left join clients as c on c.client_code = m.client_code
    left join timekeepers as bp on bp.timekeeper_id = m.billing_partner_timekeeper_id
    left join timekeepers as resp on resp.timekeeper_id = m.responsible_timekeeper_id

)

select * from final
