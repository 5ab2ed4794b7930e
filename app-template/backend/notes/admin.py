from django.contrib import admin

from .models import Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin[Note]):
    list_display = ["title", "author", "created_at"]
    list_filter = [("author", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    raw_id_fields = ["author"]
