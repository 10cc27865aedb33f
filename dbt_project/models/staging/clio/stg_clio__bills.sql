-- grain: one row per raw_clio.bills row
with

source as (

    {{ source_or_empty('clio', 'bills', [
        ('id', 'varchar'),
        ('number', 'varchar'),
        ('issued_at', 'date'),
        ('due_at', 'date'),
        ('start_at', 'date'),
        ('end_at', 'date'),
        ('state', 'varchar'),
        ('type', 'varchar'),
        ('sub_total', 'decimal(18,2)'),
        ('tax_sum', 'decimal(18,2)'),
        ('total', 'decimal(18,2)'),
        ('paid', 'decimal(18,2)'),
        ('due', 'decimal(18,2)'),
        ('balance', 'decimal(18,2)'),
        ('currency', 'varchar'),
        ('split_percentage', 'decimal(18,4)'),
        ('client__id', 'varchar'),
        ('matter__id', 'varchar'),
        ('created_at', 'timestamptz'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as bill_id,
        cast("number" as varchar) as invoice_number,
        cast("issued_at" as date) as invoice_date,
        cast("due_at" as date) as due_date,
        cast("start_at" as date) as billing_start_date,
        cast("end_at" as date) as billing_end_date,
        cast("state" as varchar) as state,
        cast("type" as varchar) as bill_type,
        {{ to_money('"sub_total"') }} as sub_total,
        {{ to_money('"tax_sum"') }} as tax_total,
        {{ to_money('"total"') }} as total,
        {{ to_money('"paid"') }} as paid,
        {{ to_money('"due"') }} as due,
        {{ to_money('"balance"') }} as balance,
        cast("currency" as varchar) as currency,
        cast("split_percentage" as decimal(18, 4)) as split_percentage,
        {{ to_id('"client__id"') }} as payer_contact_id,
        {{ to_id('"matter__id"') }} as matter_id,
        {{ to_utc('"created_at"') }} as created_at,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
