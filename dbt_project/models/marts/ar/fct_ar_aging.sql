-- grain: one row per as-of date and invoice with a non-zero open balance; as-of dates are every
-- month-end of the data (plus var ar_as_of_date). For any other date, analysts call the table
-- macro marts.ar_aging_as_of(DATE '...') created by the post-hook below (same SQL).
{{ config(
    post_hook="create or replace macro {{ this.schema }}.ar_aging_as_of(as_of) as table "
              ~ ar_aging_sql(
                  'intermediate.int_invoices_unioned', 'intermediate.int_payments_unioned',
                  'intermediate.int_ar_write_offs_unioned', 'staging.stg_ebilling__status_history',
                  'intermediate.int_matters_conformed', 'intermediate.int_fx_month_end_rates',
                  'select cast(as_of as date) as as_of_date')
) }}

{{ ar_aging_sql(
    ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned'),
    ref('stg_ebilling__status_history'), ref('int_matters_conformed'), ref('int_fx_month_end_rates'),
    ar_month_end_dates(ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned'))
) }}
