-- grain: one row per client_code (firm-wide client code, = LEDES CLIENT_ID)
with

clio_contacts as (

    select * from {{ ref('stg_clio__contacts') }}

),

actionstep_participants as (

    select * from {{ ref('stg_actionstep__participants') }}

),

clio_clients as (

    select
        client_code,
        contact_name as client_name,
        ledes_client_id,
        currency,
        ebilling_platform,
        payment_terms_days,
        'clio' as source_system,
        'NYC' as office,
        contact_id as source_client_id
    from clio_contacts
    where client_code is not null

),

actionstep_clients as (

    select
        client_code,
        display_name as client_name,
        ledes_client_id,
        currency,
        ebilling_platform,
        payment_terms_days,
        'actionstep' as source_system,
        'LDN' as office,
        participant_id as source_client_id
    from actionstep_participants
    where client_code is not null

),

unioned as (

    select * from clio_clients
    union all
    select * from actionstep_clients

),

final as (

    select
        *,
        ebilling_platform is not null as is_ebilled
    from unioned

)

select * from final
