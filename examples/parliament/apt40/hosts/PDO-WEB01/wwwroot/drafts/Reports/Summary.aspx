<%@ Page Language="C#" AutoEventWireup="true" CodeBehind="Summary.aspx.cs" Inherits="Pdo.Drafting.Reports.Summary" MasterPageFile="~/Site.Master" %>
<asp:Content ID="Main" ContentPlaceHolderID="MainContent" runat="server">
    <h2>Weekly drafting summary</h2>
    <asp:GridView ID="BillsGrid" runat="server" AutoGenerateColumns="false" CssClass="table">
        <Columns>
            <asp:BoundField DataField="BillNumber" HeaderText="Bill" />
            <asp:BoundField DataField="Title" HeaderText="Title" />
            <asp:BoundField DataField="Stage" HeaderText="Stage" />
            <asp:BoundField DataField="Drafter" HeaderText="Drafter" />
            <asp:BoundField DataField="LastChanged" HeaderText="Last changed" DataFormatString="{0:d MMM yyyy}" />
        </Columns>
    </asp:GridView>
    <p class="note">Generated for the Parliamentary Drafting Office. Change CHG-4411.</p>
</asp:Content>
