{#- Use the folder's schema name as is (staging, intermediate, marts, audit), not <target>_<name>,
    so analysts query `marts.fct_invoices` in every environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
