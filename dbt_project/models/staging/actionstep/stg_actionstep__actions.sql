-- grain: one row per raw_actionstep.actions row
with

source as (

    {{ source_or_empty('actionstep', 'actions', [
        ('id', 'varchar'),
        ('name', 'varchar'),
        ('reference', 'varchar'),
        ('status', 'varchar'),
        ('billing_method', 'varchar'),
        ('fixed_fee', 'decimal(18,2)'),
        ('is_billable_override', 'varchar'),
        ('their_reference', 'varchar'),
        ('practice_area', 'varchar'),
        ('created_timestamp', 'timestamptz'),
        ('modified_timestamp', 'timestamptz'),
        ('links__primary_participants', 'varchar'),
        ('links__assigned_to', 'varchar'),
        ('links__billing_partner', 'varchar'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as action_id,
        cast("name" as varchar) as matter_name,
        cast("reference" as varchar) as matter_number,
        cast("status" as varchar) as status,
        cast("billing_method" as varchar) as billing_method,
        {{ to_money('"fixed_fee"') }} as fixed_fee,
        {{ tf_to_bool('"is_billable_override"') }} as is_billable,
        cast("their_reference" as varchar) as client_matter_id,
        cast("practice_area" as varchar) as practice_area,
        {{ to_utc('"created_timestamp"') }} as created_at,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        {{ to_id('"links__primary_participants"') }} as client_participant_id,
        {{ to_id('"links__assigned_to"') }} as responsible_participant_id,
        {{ to_id('"links__billing_partner"') }} as billing_partner_participant_id,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
