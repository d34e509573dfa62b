{#- Macros of the incremental indicator observations (fct_indicator_observation, int_indicator_cells_matched,
    int_indicator_observations_matched). -#}

{#- One row per dataset_code of the catalogue: an md5 of every catalogue row of that dataset (all columns), so a
    change of the catalogue (a new, removed or edited indicator) changes the checksum of exactly the datasets it
    touches. `catalogue` is a relation or CTE name with the seed's columns. -#}
{% macro indicator_catalogue_checksums(catalogue) -%}
    select
        catalogue_rows.dataset_code,
        md5(string_agg(to_jsonb(catalogue_rows)::text, '|' order by catalogue_rows.indicator_id)) as catalogue_checksum
    from {{ catalogue }} as catalogue_rows
    group by catalogue_rows.dataset_code
{%- endmacro %}


{#- The rank of a matched cell among the sources publishing the same cell: 1 = the newest vintage (the dataset's
    `updated` stamp, then the latest publication, then the source id, so the choice is deterministic). -#}
{% macro indicator_newest_vintage_rank() -%}
    row_number() over (
        partition by indicator_id, geo_code, time_period, population_group, sex, age_group
        order by dataset_updated_at desc nulls last, loaded_at desc nulls last, source_id asc
    )
{%- endmacro %}


{#- The sources whose rows the incremental fct_indicator_observation (`mart`) replaces, as a query of `source_id`:

    1. changed: a source whose current rows in raw.eurostat_observation (its latest published batch) the mart does
       not hold as they are now: another load_id, a catalogue checksum of the dataset that differs (the seed
       indicator_catalogue changed), another `is_sample` (the registry entry changed), or no rows at all; and
       a source the mart holds that raw no longer has (its rows are removed: the mart mirrors raw);
    2. with every source that shares a dataset with a changed one (in raw or in the mart), transitively: two sources
       publishing the same cell compete for it (newest vintage), so their rows are rebuilt together and the result
       is exactly what a full rebuild gives.

    When the mart's columns are not `mart_columns` (the model gained or lost a column), every source is rebuilt
    (on_schema_change='append_new_columns' then adds the column; a contracted mart never drops one without a new version), so no row keeps a stale shape. -#}
{% macro indicator_sources_to_rebuild(mart, mart_columns) -%}
    {%- set existing_columns = adapter.get_columns_in_relation(mart) | map(attribute='name') | list -%}
    {%- if existing_columns | sort != mart_columns | sort %}
        select distinct source_id from {{ ref('stg_eurostat__observations') }}
        union
        select distinct source_id from {{ mart }}
    {%- else %}
        with recursive current_datasets as (
            select distinct
                source_id,
                load_id,
                dataset_code
            from {{ ref('stg_eurostat__observations') }}
        ),

        current_state as (
            select
                current_datasets.source_id,
                current_datasets.load_id,
                current_datasets.dataset_code,
                checksums.catalogue_checksum,
                registry_entries.is_sample
            from current_datasets
            inner join ({{ indicator_catalogue_checksums(ref('indicator_catalogue')) }}) as checksums
                on current_datasets.dataset_code = checksums.dataset_code
            left join {{ ref('stg_audit__registry_entries') }} as registry_entries
                on current_datasets.source_id = registry_entries.source_id
        ),

        -- grouped by source and dataset (few groups: a hash aggregate, one pass), each kept value as min and max:
        -- the rows of one source and dataset all carry the same ones unless a run was interrupted half-way
        mart_state as (
            select
                source_id,
                dataset_code,
                min(load_id) as min_load_id,
                max(load_id) as max_load_id,
                min(catalogue_checksum) as min_catalogue_checksum,
                max(catalogue_checksum) as max_catalogue_checksum,
                min(coalesce(is_sample::int, -1)) as min_is_sample,
                max(coalesce(is_sample::int, -1)) as max_is_sample
            from {{ mart }}
            group by source_id, dataset_code
        ),

        matching as (
            select
                mart_state.source_id,
                mart_state.dataset_code
            from mart_state
            inner join current_state
                on mart_state.source_id = current_state.source_id
                and mart_state.dataset_code = current_state.dataset_code
                and mart_state.min_load_id = current_state.load_id
                and mart_state.max_load_id = current_state.load_id
                and mart_state.min_catalogue_checksum = current_state.catalogue_checksum
                and mart_state.max_catalogue_checksum = current_state.catalogue_checksum
                and mart_state.min_is_sample = coalesce(current_state.is_sample::int, -1)
                and mart_state.max_is_sample = coalesce(current_state.is_sample::int, -1)
        ),

        changed as (
            select current_state.source_id
            from current_state
            where not exists (
                select
                from matching
                where
                    matching.source_id = current_state.source_id
                    and matching.dataset_code = current_state.dataset_code
            )
            union
            select mart_state.source_id
            from mart_state
            where not exists (
                select
                from matching
                where
                    matching.source_id = mart_state.source_id
                    and matching.dataset_code = mart_state.dataset_code
            )
        ),

        datasets as (
            select
                source_id,
                dataset_code
            from current_datasets
            union
            select
                source_id,
                dataset_code
            from mart_state
        ),

        rebuilt (source_id) as (
            select source_id from changed
            union
            select competitor.source_id
            from rebuilt
            inner join datasets as own on rebuilt.source_id = own.source_id
            inner join datasets as competitor on own.dataset_code = competitor.dataset_code
        )

        select source_id from rebuilt
    {%- endif %}
{%- endmacro %}


{#- The sources of raw.eurostat_observation that have no row in `mart`, as a query of `source_id`: after the
    pre-hook of fct_indicator_observation has deleted the rows of the sources to rebuild, exactly those (the set of
    indicator_sources_to_rebuild is closed, and every other source keeps its rows). Cheap on any size: the distinct
    sources of raw by a loose scan of its index on source_id (one probe per source), then one probe of the mart's
    index per source. -#}
{% macro indicator_sources_missing_from(mart) -%}
    with recursive raw_sources (source_id) as (
        (
            select source_id from {{ source('eurostat', 'eurostat_observation') }}
            order by source_id
            limit 1
        )
        union all
        select (
            select observations.source_id from {{ source('eurostat', 'eurostat_observation') }} as observations
            where observations.source_id > raw_sources.source_id
            order by observations.source_id
            limit 1
        )
        from raw_sources
        where raw_sources.source_id is not null
    )

    select raw_sources.source_id
    from raw_sources
    where
        raw_sources.source_id is not null
        and not exists (select from {{ mart }} as mart_rows where mart_rows.source_id = raw_sources.source_id)
{%- endmacro %}
