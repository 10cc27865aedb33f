-- grain: one row per as-of date and invoice with a non-zero open balance; as-of dates are every
-- month-end of the data (plus var ar_as_of_date). For any other date, analysts call the table
-- macro marts.ar_aging_as_of(DATE '...'), and for many dates in one query
-- marts.ar_aging_as_of_dates([DATE '...', ...]): both created by the post-hooks below from the
-- same SQL (ar_aging_sql).
{{ config(post_hook=ar_aging_table_macros('{{ this.schema }}')) }}

{{ ar_aging_sql(
    ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned'),
    ref('stg_ebilling__status_history'), ref('int_matters_conformed'), ref('int_fx_month_end_rates'),
    ar_month_end_dates(ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned'))
) }}
