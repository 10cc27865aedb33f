-- grain: one row per matter_number (firm matter number, = LEDES LAW_FIRM_MATTER_ID)
with

clio_matters as (

    select * from {{ ref('stg_clio__matters') }}

),

clio_contacts as (

    select * from {{ ref('stg_clio__contacts') }}

),

actionstep_actions as (

    select * from {{ ref('stg_actionstep__actions') }}

),

actionstep_participants as (

    select * from {{ ref('stg_actionstep__participants') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

clio as (

    select
        m.matter_number,
        m.matter_name,
        c.client_code,
        m.client_matter_id,
        case when m.status = 'Open' then 'open' else 'closed' end as status,
        m.billing_method,
        m.flat_fee,
        m.is_billable,
        m.practice_area,
        m.open_date,
        m.close_date,
        resp.timekeeper_id as responsible_timekeeper_id,
        bp.timekeeper_id as billing_partner_timekeeper_id,
        'clio' as source_system,
        'NYC' as office,
        m.matter_id as source_matter_id
    from clio_matters as m
    left join clio_contacts as c on c.contact_id = m.client_contact_id
    left join timekeepers as resp
        on resp.source_system = 'clio' and resp.source_timekeeper_id = m.responsible_user_id
    left join timekeepers as bp
        on bp.source_system = 'clio' and bp.source_timekeeper_id = m.billing_partner_user_id

),

actionstep as (

    select
        a.matter_number,
        a.matter_name,
        p.client_code,
        a.client_matter_id,
        case when a.status = 'Active' then 'open' else 'closed' end as status,
        case when a.billing_method = 'fixed' then 'flat' else a.billing_method end as billing_method,
        a.fixed_fee as flat_fee,
        coalesce(a.is_billable, true) as is_billable,
        a.practice_area,
        cast(a.created_at as date) as open_date,
        cast(case when a.status = 'Closed' then a.updated_at end as date) as close_date,
        resp.timekeeper_id as responsible_timekeeper_id,
        bp.timekeeper_id as billing_partner_timekeeper_id,
        'actionstep' as source_system,
        'LDN' as office,
        a.action_id as source_matter_id
    from actionstep_actions as a
    left join actionstep_participants as p on p.participant_id = a.client_participant_id
    left join timekeepers as resp
        on resp.source_system = 'actionstep' and resp.source_timekeeper_id = a.responsible_participant_id
    left join timekeepers as bp
        on bp.source_system = 'actionstep' and bp.source_timekeeper_id = a.billing_partner_participant_id

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
