-- grain: one row per raw_clio.matters row
with

source as (

    {{ source_or_empty('clio', 'matters', [
        ('id', 'varchar'),
        ('display_number', 'varchar'),
        ('description', 'varchar'),
        ('status', 'varchar'),
        ('billing_method', 'varchar'),
        ('flat_fee', 'decimal(18,2)'),
        ('billable', 'boolean'),
        ('open_date', 'date'),
        ('close_date', 'date'),
        ('client_reference', 'varchar'),
        ('practice_area', 'varchar'),
        ('client__id', 'varchar'),
        ('responsible_attorney__id', 'varchar'),
        ('originating_attorney__id', 'varchar'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as matter_id,
        cast("display_number" as varchar) as matter_number,
        cast("description" as varchar) as matter_name,
        cast("status" as varchar) as status,
        cast("billing_method" as varchar) as billing_method,
        {{ to_money('"flat_fee"') }} as flat_fee,
        cast("billable" as boolean) as is_billable,
        cast("open_date" as date) as open_date,
        cast("close_date" as date) as close_date,
        cast("client_reference" as varchar) as client_matter_id,
        cast("practice_area" as varchar) as practice_area,
        {{ to_id('"client__id"') }} as client_contact_id,
        {{ to_id('"responsible_attorney__id"') }} as responsible_user_id,
        {{ to_id('"originating_attorney__id"') }} as billing_partner_user_id,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
