-- grain: one row per timekeeper_id (firm-wide, = LEDES TIMEKEEPER_ID)
with

clio_users as (

    select * from {{ ref('stg_clio__users') }}

),

actionstep_participants as (

    select * from {{ ref('stg_actionstep__participants') }}

),

clio_timekeepers as (

    select
        timekeeper_id,
        user_name as timekeeper_name,
        first_name,
        last_name,
        classification,
        current_rate,
        is_enabled,
        'clio' as source_system,
        'NYC' as office,
        user_id as source_timekeeper_id
    from clio_users
    where timekeeper_id is not null

),

actionstep_timekeepers as (

    select
        timekeeper_id,
        display_name as timekeeper_name,
        first_name,
        last_name,
        classification,
        cast(null as decimal(18, 2)) as current_rate,
        true as is_enabled,
        'actionstep' as source_system,
        'LDN' as office,
        participant_id as source_timekeeper_id
    from actionstep_participants
    where is_timekeeper and timekeeper_id is not null

),

unioned as (

    select * from clio_timekeepers
    union all
    select * from actionstep_timekeepers

),

final as (

    select
        *,
        {{ timekeeper_role('classification') }} as timekeeper_role
    from unioned

)

select * from final
