"""catalog listings, images, price history, reviews, imports, warehouses, inventory

Revision ID: g0002
Revises: g0001
Create Date: 2026-11-25 23:02:09.729609
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0002"
down_revision: str | None = "g0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_imports",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("actor_id", sa.String(length=48), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_catalog_imports_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_imports")),
    )
    with op.batch_alter_table("catalog_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalog_imports_shop_created", ["shop_id", "created_at"], unique=False
        )

    op.create_table(
        "warehouses",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("subdivision", sa.String(length=8), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("postal_code", sa.String(length=16), nullable=False),
        sa.Column("handling_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_warehouses_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
    )
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warehouses_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "listing_reviews",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("product_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reviewer_id", sa.String(length=48), nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_listing_reviews_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_listing_reviews_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_reviews")),
    )
    with op.batch_alter_table("listing_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_listing_reviews_outcome_created", ["outcome", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_listing_reviews_product_created", ["product_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_listing_reviews_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "product_images",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("product_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("alt", sa.String(length=512), nullable=False),
        sa.Column("source_url", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("thumbnails", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_product_images_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_images_product_position", ["product_id", "position"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_product_images_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "inventory_levels",
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("warehouse_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_inventory_levels_on_hand_non_negative")),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_inventory_levels_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_inventory_levels_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_levels_warehouse_id_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("variant_id", "warehouse_id", name=op.f("pk_inventory_levels")),
    )
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.create_index("ix_inventory_levels_shop", ["shop_id"], unique=False)
        batch_op.create_index("ix_inventory_levels_warehouse", ["warehouse_id"], unique=False)

    op.create_table(
        "inventory_movements",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("warehouse_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("on_hand_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.String(length=48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_inventory_movements_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_inventory_movements_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_movements_warehouse_id_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_movements")),
    )
    with op.batch_alter_table("inventory_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inventory_movements_shop_created", ["shop_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_inventory_movements_variant_created", ["variant_id", "created_at"], unique=False
        )

    op.create_table(
        "price_history",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("variant_id", sa.String(length=48), nullable=False),
        sa.Column("shop_id", sa.String(length=48), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("compare_at_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=48), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_price_history_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_price_history_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_history")),
    )
    with op.batch_alter_table("price_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_history_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(
            "ix_price_history_variant_changed", ["variant_id", "changed_at"], unique=False
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vendor", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("product_type", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "original_category", sa.String(length=1024), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("option_names", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("seo_title", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("seo_description", sa.String(length=1024), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("review_reasons", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("live_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("import_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index(
            "ix_products_shop_status_updated", ["shop_id", "status", "updated_at"], unique=False
        )
        batch_op.create_index("ix_products_shop_created", ["shop_id", "created_at"], unique=False)
        batch_op.create_index("ix_products_status_created", ["status", "created_at"], unique=False)

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("home_region", sa.String(length=16), nullable=False, server_default="us")
        )
        batch_op.add_column(sa.Column("logo_key", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("default_handling_days", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(sa.Column("flat_shipping_cents", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("free_shipping_threshold_cents", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shipping_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )

    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("options_key", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("cost_cents", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "inventory_policy", sa.String(length=16), nullable=False, server_default="deny"
            )
        )
        batch_op.add_column(
            sa.Column("requires_shipping", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("taxable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("tax_code", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("image_id", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
        batch_op.alter_column(
            "sku",
            existing_type=sa.VARCHAR(length=100),
            type_=sa.String(length=255),
            existing_nullable=False,
        )
        batch_op.drop_constraint("shop_sku", type_="unique")
        batch_op.create_index("ix_variants_shop_sku", ["shop_id", "sku"], unique=False)

    _backfill_options_key()
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_unique_constraint("product_options", ["product_id", "options_key"])


def _options_key(values: list[str]) -> str:
    """Frozen copy of ``shopreel.catalog.options.options_key`` (migrations never import app
    code that may change later)."""
    normal = [" ".join(str(v).split()).casefold() for v in values]
    return hashlib.sha256("\x1f".join(normal).encode()).hexdigest()


def _backfill_options_key() -> None:
    variants = sa.table(
        "variants",
        sa.column("id", sa.String),
        sa.column("options", sa.JSON),
        sa.column("options_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(variants.c.id, variants.c.options)).all()
    for variant_id, options in rows:
        if isinstance(options, str):
            options = json.loads(options)
        key = _options_key(list((options or {}).values()))
        bind.execute(variants.update().where(variants.c.id == variant_id).values(options_key=key))


def downgrade() -> None:
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_constraint("product_options", type_="unique")
        batch_op.drop_index("ix_variants_shop_sku")
        batch_op.create_unique_constraint("shop_sku", ["shop_id", "sku"])
        batch_op.alter_column(
            "sku",
            existing_type=sa.String(length=255),
            type_=sa.VARCHAR(length=100),
            existing_nullable=False,
        )
        batch_op.drop_column("updated_at")
        batch_op.drop_column("attributes")
        batch_op.drop_column("image_id")
        batch_op.drop_column("tax_code")
        batch_op.drop_column("taxable")
        batch_op.drop_column("requires_shipping")
        batch_op.drop_column("inventory_policy")
        batch_op.drop_column("cost_cents")
        batch_op.drop_column("options_key")

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("shipping_set_at")
        batch_op.drop_column("free_shipping_threshold_cents")
        batch_op.drop_column("flat_shipping_cents")
        batch_op.drop_column("default_handling_days")
        batch_op.drop_column("logo_key")
        batch_op.drop_column("home_region")

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_status_created")
        batch_op.drop_index("ix_products_shop_created")
        batch_op.drop_index("ix_products_shop_status_updated")
        batch_op.drop_column("version")
        batch_op.drop_column("import_hash")
        batch_op.drop_column("live_at")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("review_reasons")
        batch_op.drop_column("attributes")
        batch_op.drop_column("seo_description")
        batch_op.drop_column("seo_title")
        batch_op.drop_column("option_names")
        batch_op.drop_column("original_category")
        batch_op.drop_column("product_type")
        batch_op.drop_column("vendor")

    with op.batch_alter_table("price_history", schema=None) as batch_op:
        batch_op.drop_index("ix_price_history_variant_changed")
        batch_op.drop_index(batch_op.f("ix_price_history_shop_id"))

    op.drop_table("price_history")
    with op.batch_alter_table("inventory_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_movements_variant_created")
        batch_op.drop_index("ix_inventory_movements_shop_created")

    op.drop_table("inventory_movements")
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_levels_warehouse")
        batch_op.drop_index("ix_inventory_levels_shop")

    op.drop_table("inventory_levels")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_images_shop_id"))
        batch_op.drop_index("ix_product_images_product_position")

    op.drop_table("product_images")
    with op.batch_alter_table("listing_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listing_reviews_shop_id"))
        batch_op.drop_index("ix_listing_reviews_product_created")
        batch_op.drop_index("ix_listing_reviews_outcome_created")

    op.drop_table("listing_reviews")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warehouses_shop_id"))

    op.drop_table("warehouses")
    with op.batch_alter_table("catalog_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_imports_shop_created")

    op.drop_table("catalog_imports")
